package testdrive

import (
	"flag"
	"strings"
)

// parseInterspersed parses args with fs, accepting flags before and after
// the positional arguments. Go's flag package stops at the first argument
// that is not a flag, so "create FOLDER --location x" would otherwise
// leave --location unparsed and read it as a second folder. Flags are
// moved in front of the positional arguments, keeping their order; a
// flag's separate value moves with it. Everything after "--" stays
// positional, as with flag.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	return fs.Parse(reorder(fs, args))
}

// reorder puts the flags of args first and the positional arguments
// after a "--", so that fs.Parse reads every flag and nothing else.
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case len(arg) < 2 || arg[0] != '-':
			// "-" alone is a positional argument too (stdin, by
			// convention), as flag treats it.
			positional = append(positional, arg)
		default:
			flags = append(flags, arg)
			if !takesValue(fs, arg) {
				continue
			}
			if i+1 == len(args) {
				// No value: leave the flag last, without the "--"
				// that would become its value, for fs.Parse to
				// report.
				return flags
			}
			i++
			flags = append(flags, args[i])
		}
	}
	return append(append(flags, "--"), positional...)
}

// takesValue reports whether arg is a flag of fs written without "=" whose
// value is the next argument. Unknown flags are left for fs.Parse to
// report; boolean flags take no separate value, as with flag.
func takesValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok &&
		b.IsBoolFlag() {
		return false
	}
	return true
}
