package lifecycle

import "strings"

// maxStackName is Heat's limit on a stack name.
const maxStackName = 255

// StackName derives the Heat stack name of a resource, as the earlier
// driver did so that its stacks are recognised: from
// "<resourceName>.<resourceId>" every character outside [A-Za-z0-9_.-] is
// removed; a name that does not start with a letter gets an "s" in front;
// a name longer than 255 loses characters from its second position on, so
// that it keeps its first letter and its end, where the resource id is.
func StackName(resourceName, resourceID string) string {
	var b strings.Builder
	for _, r := range resourceName + "." + resourceID {
		if r < 128 && (isLetter(byte(r)) || isDigit(byte(r)) ||
			r == '_' || r == '.' || r == '-') {
			b.WriteRune(r)
		}
	}
	name := b.String()
	if name == "" || !isLetter(name[0]) {
		name = "s" + name
	}
	if len(name) > maxStackName {
		name = name[:1] + name[len(name)-maxStackName+1:]
	}
	return name
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
