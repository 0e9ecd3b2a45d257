package fleet

import (
	"bytes"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/nectarhq/nectar/schemas"

	"github.com/nectarhq/nectar/internal/hint"
)

// The kinds of files nectar validates, named by their schema file.
const (
	schemaFleet      = "nectar.schema.json"
	schemaBot        = "bot.schema.json"
	schemaCredential = "credential.schema.json"
)

var compiled struct {
	once    sync.Once
	schemas map[string]*jsonschema.Schema
	docs    map[string]any // raw schema documents by file name, to list allowed keys in hints
	err     error
}

func compileSchemas() {
	c := jsonschema.NewCompiler()
	compiled.docs = make(map[string]any)
	entries, err := fs.ReadDir(schemas.Files, ".")
	if err != nil {
		compiled.err = err
		return
	}
	for _, e := range entries {
		data, err := fs.ReadFile(schemas.Files, e.Name())
		if err != nil {
			compiled.err = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			compiled.err = fmt.Errorf("schema %s: %w", e.Name(), err)
			return
		}
		compiled.docs[e.Name()] = doc
		if err := c.AddResource(schemas.BaseURL+e.Name(), doc); err != nil {
			compiled.err = err
			return
		}
	}
	compiled.schemas = make(map[string]*jsonschema.Schema)
	for _, name := range []string{schemaFleet, schemaBot, schemaCredential} {
		s, err := c.Compile(schemas.BaseURL + name)
		if err != nil {
			compiled.err = fmt.Errorf("schema %s: %w", name, err)
			return
		}
		compiled.schemas[name] = s
	}
}

var printer = message.NewPrinter(language.English)

// validateSchema checks doc against the named schema and reports every
// violation at its line. With secret set, messages never quote values. It
// returns whether the document still has the shape the loader decodes:
// true when it is valid or its only faults are unknown keys, which
// decoding skips, so the file's other checks can still run and report
// their problems in the same run.
func validateSchema(ps *problems, file, schema string, doc *document, secret bool) (shapeOK bool) {
	compiled.once.Do(compileSchemas)
	if compiled.err != nil {
		// Embedded schemas are fixed at build time; tests keep them valid.
		panic(compiled.err)
	}
	err := compiled.schemas[schema].Validate(doc.value)
	if err == nil {
		return true
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		ps.add(file, 0, 0, "", "%v", err)
		return false
	}
	shapeOK = true
	for _, leaf := range leaves(ve) {
		schemaProblem(ps, file, doc, leaf, secret)
		if _, unknownKey := leaf.ErrorKind.(*kind.AdditionalProperties); !unknownKey {
			shapeOK = false
		}
	}
	return shapeOK
}

// leaves returns the violations to report. A refused key name stops the
// descent: below it the validator checks the name as a value of its own,
// at no place in the file, so the key's own line would be lost.
//
// Each leaf's InstanceLocation is mended on the way down: the validator
// (jsonschema v6.0.3) can hand a propertyNames violation a location whose
// backing array a sibling's walk has since overwritten. A cause always
// lies at or below its parent, so a location that does not is replaced by
// the parent's.
func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if _, key := e.ErrorKind.(*kind.PropertyNames); key || len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		if !isPrefix(e.InstanceLocation, c.InstanceLocation) {
			c.InstanceLocation = slices.Clone(e.InstanceLocation)
		}
		out = append(out, leaves(c)...)
	}
	return out
}

func isPrefix(prefix, s []string) bool {
	return len(prefix) <= len(s) && slices.Equal(prefix, s[:len(prefix)])
}

func schemaProblem(ps *problems, file string, doc *document, e *jsonschema.ValidationError, secret bool) {
	where := e.InstanceLocation
	at := func(path []string, key bool) (int, int) {
		n := locate(doc.root, path, key)
		return n.Line, n.Column
	}
	field := strings.Join(where, ".")
	if field == "" {
		field = "the file"
	}
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		allowed := allowedKeys(e.SchemaURL)
		for _, p := range k.Properties {
			line, col := at(append(slices.Clone(where), p), true)
			if secret && didYouMean(p, allowed) == "" {
				// A key of a decrypted file may be a secret in the wrong
				// place; one a typo away from a valid key is not.
				ps.add(file, line, col, keysHint(p, allowed), "unknown key%s (its name is not shown, as it may be secret)", under(where))
				continue
			}
			ps.add(file, line, col, keysHint(p, allowed), "unknown key %q%s", p, under(where))
		}
	case *kind.Required:
		line, col := at(where, false)
		for _, m := range k.Missing {
			ps.add(file, line, col, requiredHint(m), "missing required key %q%s", m, under(where))
		}
	case *kind.Type:
		line, col := at(where, false)
		ps.add(file, line, col, emptyValueHint(k.Got, k.Want), "%s must be %s, not %s", field, strings.Join(k.Want, " or "), k.Got)
	case *kind.Enum:
		line, col := at(where, false)
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
		}
		ps.add(file, line, col, "", "%s must be one of: %s", field, strings.Join(want, ", "))
	case *kind.Pattern:
		line, col := at(where, false)
		if k.Want == nameRE.String() {
			ps.add(file, line, col, "names use "+NameRule, "%s: %s", field, nameProblem(k.Got))
			return
		}
		// The schema's description says in words what the pattern wants.
		if secret {
			ps.add(file, line, col, description(e.SchemaURL), "%s is not in the expected form", field)
			return
		}
		ps.add(file, line, col, description(e.SchemaURL), "%s: %q is not in the expected form", field, k.Got)
	case *kind.MinItems:
		line, col := at(where, false)
		hint := ""
		if field == "recipients" {
			hint = "add your age public key (nectar keygen prints it) under recipients:"
		}
		ps.add(file, line, col, hint, "%s must list at least %d item(s)", field, k.Want)
	case *kind.UniqueItems:
		line, col := at(append(slices.Clone(where), fmt.Sprint(k.Duplicates[1])), false)
		ps.add(file, line, col, "", "%s lists the same entry twice (items %d and %d)", field, k.Duplicates[0]+1, k.Duplicates[1]+1)
	case *kind.PropertyNames:
		line, col := at(append(slices.Clone(where), k.Property), true)
		// The name's own rule (a pattern, with its description) sits in
		// the propertyNames schema.
		d, _ := schemaNode(e.SchemaURL, "")["description"].(string)
		if secret {
			ps.add(file, line, col, d, "%s: a key here is not in the expected form", field)
			return
		}
		ps.add(file, line, col, d, "%s: key %q is not in the expected form", field, k.Property)
	default:
		line, col := at(where, false)
		if secret {
			ps.add(file, line, col, "", "%s is invalid", field)
			return
		}
		ps.add(file, line, col, "", "%s: %s", field, e.ErrorKind.LocalizedString(printer))
	}
}

func under(where []string) string {
	if len(where) == 0 {
		return ""
	}
	return " under " + strings.Join(where, ".")
}

func requiredHint(key string) string {
	switch key {
	case "recipients":
		return "list the age public keys that may read the fleet's secrets, e.g. the one `nectar keygen` printed"
	case "fleet":
		return "name the fleet, e.g. `fleet: prod`; containers are labelled with it"
	case "account":
		return "name the account (a folder under accounts/) whose keys this bot uses"
	case "connector":
		return "add `connector: <name>` with the same name as the file"
	}
	return ""
}

func keysHint(got string, allowed []string) string {
	if len(allowed) == 0 {
		return ""
	}
	return didYouMean(got, allowed) + "valid keys here: " + strings.Join(allowed, ", ")
}

// didYouMean names the option closest to got, when one is within two edits
// of it (a typo rather than another word), as the start of a hint.
func didYouMean(got string, options []string) string {
	best, bestDist := "", 3
	for _, o := range options {
		if d := hint.Distance(got, o, false); d < bestDist {
			best, bestDist = o, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("did you mean %q? ", best)
}

// allowedKeys lists the properties of the schema object that owns the
// additionalProperties keyword at schemaURL, e.g.
// ".../bot.schema.json#/additionalProperties".
func allowedKeys(schemaURL string) []string {
	props, _ := schemaNode(schemaURL, "additionalProperties")["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// description is the description of the schema object that holds the
// keyword at schemaURL: what the value should look like, in words.
func description(schemaURL string) string {
	d, _ := schemaNode(schemaURL, "pattern")["description"].(string)
	return d
}

// schemaNode is the schema object at schemaURL, or the one holding the
// keyword schemaURL ends in, e.g. the memory property's object for
// ".../defs.schema.json#/$defs/resources/properties/memory/pattern".
func schemaNode(schemaURL, keyword string) map[string]any {
	file, ptr, _ := strings.Cut(strings.TrimPrefix(schemaURL, schemas.BaseURL), "#")
	node := compiled.docs[file]
	parts := strings.Split(strings.Trim(ptr, "/"), "/")
	if parts[len(parts)-1] == keyword {
		parts = parts[:len(parts)-1]
	}
	for _, p := range parts {
		if p == "" {
			continue
		}
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = m[strings.NewReplacer("~1", "/", "~0", "~").Replace(p)]
	}
	m, _ := node.(map[string]any)
	return m
}
