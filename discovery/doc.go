// Package discovery reads the TOSCA-style discovery templates ("discover.yaml")
// that resource packages carry for Brent's find-reference call, and resolves
// them against Heat stacks and Neutron networks.
//
// The work is split in two so the parsing can be tested without a cloud:
//
//   - [Parse] and [ReadPackage] turn a template into a [Template]. They do no
//     I/O and report every problem as a [*TemplateError] naming the file,
//     the line (where one is known) and the problem.
//   - [Template.Find] resolves a parsed template through a [Cloud]. It
//     returns a nil [*Result] when nothing matches, an [*AmbiguousError]
//     when a name matches more than one object, a [*TemplateError] when the
//     template asks for something the found object lacks, and otherwise
//     passes cloud errors through wrapped with %w.
//
// [NewOpenStackCloud] is the [Cloud] backed by gophercloud service clients.
//
// The template language, its node types and attributes are described for
// package authors in docs/discovery-templates.md.
package discovery
