package testdrive

// ParseInterspersed exposes parseInterspersed to the tests.
var ParseInterspersed = parseInterspersed
