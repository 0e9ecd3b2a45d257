// Package schemas embeds the JSON Schemas of nectar's files. The same files
// serve editors (through yaml-language-server) and nectar's own validation,
// so both always agree.
package schemas

import "embed"

// Files holds every *.schema.json of this folder.
//
//go:embed *.schema.json
var Files embed.FS

// BaseURL is the prefix of every schema's $id; relative $refs between the
// files resolve against it.
const BaseURL = "https://github.com/nectarhq/nectar/schemas/"
