package failure

import (
	"strings"
	"unicode/utf8"
)

// defaultLength is the length, in runes, that Describe uses when it is
// given no positive maximum.
const defaultLength = 1000

// cutMarker ends a description that Describe had to shorten.
const cutMarker = " …[cut]"

// Describe builds the human description of a failure: Heat's own words
// (reason), prefixed with "<name> (<type>): " when the resource name is
// known, or "<name>: " when its type is not. Runs of white space become
// one space and bytes that are not UTF-8 become U+FFFD, so the result is
// always valid UTF-8. A result longer than max runes is cut to at most max
// runes, ending in the marker " …[cut]"; the cut falls between words,
// unless the word at the cut is longer than the room left, which is then
// cut at a rune boundary. When max is too small to hold the marker, the
// text is cut at a rune boundary without it. A max of zero or less means
// 1000 runes.
func Describe(resourceName, resourceType, reason string, max int) string {
	if max <= 0 {
		max = defaultLength
	}
	name := collapse(resourceName)
	kind := collapse(resourceType)
	text := collapse(reason)
	if name != "" {
		prefix := name
		if kind != "" {
			prefix += " (" + kind + ")"
		}
		if text == "" {
			text = prefix
		} else {
			text = prefix + ": " + text
		}
	}
	return shorten(text, max)
}

// collapse makes s valid UTF-8 and turns every run of white space into a
// single space, dropping it at both ends.
func collapse(s string) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
}

// shorten cuts the valid UTF-8 text to at most limit runes as Describe
// documents. The text holds no leading, trailing or double spaces.
func shorten(text string, limit int) string {
	if utf8.RuneCountInString(text) <= limit {
		return text
	}
	runes := []rune(text)
	marker := utf8.RuneCountInString(cutMarker)
	if limit <= marker {
		return string(runes[:limit])
	}
	room := limit - marker
	end := room
	if runes[room] != ' ' {
		// The cut falls inside a word: find where that word starts and
		// ends. Drop it whole unless it could never fit.
		start := room
		for start > 0 && runes[start-1] != ' ' {
			start--
		}
		stop := room
		for stop < len(runes) && runes[stop] != ' ' {
			stop++
		}
		if stop-start <= room {
			end = start
		}
	}
	for end > 0 && runes[end-1] == ' ' {
		end--
	}
	return string(runes[:end]) + cutMarker
}
