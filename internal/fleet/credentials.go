package fleet

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nectarhq/nectar/internal/connector"
)

// ParseCredential checks the plaintext of a credential file as Load would,
// for commands that are about to encrypt one. Any connector is admitted:
// which ones nectar.yaml lets through is the fleet's to say when it loads.
func ParseCredential(account, conn string, plain []byte) (*Credential, []Problem) {
	var ps problems
	cred := checkCredential(&ps, credentialPath(account, conn), account, conn, plain, func(string) bool { return true })
	sortProblems(ps.list)
	return cred, ps.list
}

// checkCredential reads the plaintext of one credential file and holds it
// to its schema and its connector's fields; nil when it cannot be used.
// admits says whether a connector Hummingbot's table lacks may stand.
// Messages quote nothing of the file that may be secret.
func checkCredential(ps *problems, file, account, conn string, plain []byte, admits func(conn string) bool) *Credential {
	if len(plain) > MaxFileSize {
		ps.readFailed(file, errTooLarge)
		return nil
	}
	hint := fmt.Sprintf("line numbers refer to the decrypted text; open it with `nectar cred edit %s %s`", account, conn)
	doc, err := parseYAML(plain)
	if err != nil {
		var ye *errYAML
		if errors.As(err, &ye) && ye.ownWords {
			ps.add(file, ye.line, 0, ye.hint+"; "+hint, "%s", ye.msg)
			return nil
		}
		if errors.As(err, &ye) {
			// The YAML parser's messages may quote the text around the
			// error, which here is secret: keep only the position.
			// Its hint is nectar's own words, naming no text of the file.
			ps.add(file, ye.line, 0, strings.TrimPrefix(ye.hint+"; "+hint, "; "), "invalid YAML in the credential (only its position is shown: the text may be secret)")
			return nil
		}
		ps.add(file, 0, 0, hint, "invalid YAML in the credential (only its position is shown: the text may be secret)")
		return nil
	}
	before := len(ps.list)
	validateSchema(ps, file, schemaCredential, doc, true)
	if len(ps.list) > before {
		return nil
	}
	cred := &Credential{Account: account}
	for _, kv := range mapPairs(doc.root) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "connector":
			cred.Connector = v.Value
		case "secrets":
			for _, s := range mapPairs(v) {
				cred.Secrets = append(cred.Secrets, SecretField{Name: s[0].Value, Value: Secret(s[1].Value)})
			}
		case "settings":
			m := doc.value.(map[string]any)["settings"].(map[string]any)
			for _, s := range mapPairs(v) {
				cred.Settings = append(cred.Settings, Field{Name: s[0].Value, Value: m[s[0].Value]})
			}
		}
	}
	if cred.Connector != conn {
		n := locate(doc.root, []string{"connector"}, false)
		ps.add(file, n.Line, n.Column, fmt.Sprintf("rename the file to %s%s, or set `connector: %s`", cred.Connector, CredentialSuffix, conn),
			"connector %q does not match the file name (%s)", cred.Connector, conn)
		return nil
	}
	if !checkConnectorFields(ps, file, doc, cred, hint, admits) {
		return nil
	}
	return cred
}

// checkConnectorFields holds a credential to what Hummingbot will accept
// at start. The rules are the connector's (Spec.Check); here each problem
// is placed at its line, and lineHint (how to open the decrypted text the
// lines refer to) added to those fixed by an edit at that line.
func checkConnectorFields(ps *problems, file string, doc *document, cred *Credential, lineHint string, admits func(conn string) bool) bool {
	before := len(ps.list)
	for _, s := range cred.Secrets {
		if s.Value == "" {
			n := locate(doc.root, []string{"secrets", s.Name}, false)
			ps.add(file, n.Line, n.Column, lineHint, "secret %s is empty", s.Name)
		}
	}
	spec, known := connector.Lookup(cred.Connector)
	if !known {
		if !admits(cred.Connector) {
			unknownConnector(ps, file, doc, cred.Connector)
		}
		return len(ps.list) == before
	}
	for _, p := range spec.Check(credentialEntries(cred)) {
		line, col := fieldPosition(doc, p)
		hint := p.Hint
		if p.Fault != connector.UnknownField {
			hint += "; " + lineHint
		}
		ps.add(file, line, col, hint, "%s", p.Message)
	}
	return len(ps.list) == before
}

// credentialEntries lists a credential's fields for the connector's
// check: its secrets, then its settings, each in file order.
func credentialEntries(cred *Credential) []connector.Entry {
	out := make([]connector.Entry, 0, len(cred.Secrets)+len(cred.Settings))
	for _, s := range cred.Secrets {
		out = append(out, connector.Entry{Name: s.Name, Secret: true})
	}
	for _, s := range cred.Settings {
		out = append(out, connector.Entry{Name: s.Name, Value: s.Value})
	}
	return out
}

// fieldPosition is where a connector's problem sits in the credential: a
// bad value at the value, a missing field at the top of the file, any
// other at the field's name.
func fieldPosition(doc *document, p connector.Problem) (int, int) {
	under := "settings"
	if p.Secret {
		under = "secrets"
	}
	switch p.Fault {
	case connector.MissingField:
		return 1, 1
	case connector.BadValue:
		n := locate(doc.root, []string{under, p.Field}, false)
		return n.Line, n.Column
	}
	n := locate(doc.root, []string{under, p.Field}, true)
	return n.Line, n.Column
}

// unknownConnector refuses a credential of a connector Hummingbot's field
// table does not have: nectar cannot tell which of its fields Hummingbot
// decrypts, and a secret written in plaintext where Hummingbot expects it
// encrypted aborts the decryption of every connector of the bot.
func unknownConnector(ps *problems, file string, doc *document, name string) {
	n := locate(doc.root, []string{"connector"}, false)
	hint := "if it is a connector of a newer Hummingbot image, list it under extra_connectors: in nectar.yaml (its secrets: are then encrypted and its settings: written as they are)"
	if close := connector.Suggest(name); len(close) > 0 {
		hint = "did you mean " + strings.Join(close, " or ") + "? " + hint
	}
	ps.add(file, n.Line, n.Column, hint, "%s is not a connector of Hummingbot %s", name, connector.HummingbotVersion)
}
