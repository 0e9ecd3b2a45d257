package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// PartKind says what one piece of a bot's configuration is, so a change
// of it can be put in words.
type PartKind string

// The parts a bot's hash is made of.
const (
	// PartImage is the image reference (no name).
	PartImage PartKind = "image"
	// PartSetting is one container setting, named as specSettings names
	// it (network, restart, cpus, memory, stop timeout, command, ...).
	PartSetting PartKind = "setting"
	// PartEnv is one environment variable, by name.
	PartEnv PartKind = "env"
	// PartMount is one mount, by its target in the container.
	PartMount PartKind = "mount"
	// PartPassword is the account password, through its verification
	// file (no name).
	PartPassword PartKind = "password"
	// PartClientConfig is conf_client.yml (no name).
	PartClientConfig PartKind = "client_config"
	// PartCredential is one connector's credential file, by connector.
	PartCredential PartKind = "credential"
	// PartFile is any other rendered file, by its path in the instance.
	PartFile PartKind = "file"
)

// Records written before each variable and setting were kept apart hold
// these two coarse parts instead. They are only ever read.
const (
	partEnvironment PartKind = "environment"
	partSettings    PartKind = "container settings"
)

// PartKey names one part of a bot's configuration: its kind, and for the
// kinds that come many to a bot, which one.
//
// In a record of what was applied a key is written as text, "kind" or
// "kind/name" (a file's name may hold more slashes), which is the form
// records have always had: a record of an older nectar reads as it was
// written.
type PartKey struct {
	Kind PartKind
	Name string
}

// Part returns the key of a part of kind k named name.
func Part(k PartKind, name string) PartKey { return PartKey{Kind: k, Name: name} }

func (k PartKey) String() string {
	if k.Name == "" {
		return string(k.Kind)
	}
	return string(k.Kind) + "/" + k.Name
}

// MarshalText writes the key as a record holds it.
func (k PartKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a key as a record holds it. Any text is a key: a
// kind this nectar does not know (from a newer one) is still compared,
// and named as it stands if it changed.
func (k *PartKey) UnmarshalText(b []byte) error {
	kind, name, _ := strings.Cut(string(b), "/")
	*k = PartKey{Kind: PartKind(kind), Name: name}
	return nil
}

// Parts are the digests of a bot's parts, by key.
type Parts map[PartKey]string

// changeReason explains a hash change from the parts that differ. It
// names what changed (a variable, a file, a mount, a setting) and never a
// value that could be secret: the values of settings, which are not, are
// shown; of the environment, only the variable's name.
func changeReason(d Desired, last Applied, hash string) string {
	if hash == "" {
		return "the container has no nectar.hash label"
	}
	if last.Hash != hash || len(last.Parts) == 0 {
		if last.Image != "" && last.Image != d.Image {
			return fmt.Sprintf("image %s → %s", last.Image, d.Image)
		}
		return "the container was made from another configuration (nectar has no record of what it applied to it)"
	}
	// An older record's coarse parts cannot be compared with the fine
	// ones; what both formats share still can.
	_, coarse := last.Parts[PartKey{Kind: partSettings}]
	var reasons, files []string
	var env, mounts [3][]string // added, removed, changed
	keys := slices.SortedFunc(maps.Keys(joinKeys(d.Parts, last.Parts)), func(a, b PartKey) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		now, was := d.Parts[k], last.Parts[k]
		if now == was {
			continue
		}
		switch k.Kind {
		case PartSetting, PartEnv, PartMount, partEnvironment, partSettings:
			if coarse {
				continue
			}
		}
		change := 2
		switch {
		case was == "":
			change = 0
		case now == "":
			change = 1
		}
		switch k.Kind {
		case PartImage:
			reasons = append(reasons, fmt.Sprintf("image %s → %s", last.Image, d.Image))
		case PartPassword:
			reasons = append(reasons, "account password changed")
		case PartClientConfig:
			reasons = append(reasons, "client_config changed")
		case PartSetting:
			reasons = append(reasons, settingChange(k.Name, last.Settings[k.Name], d.Settings[k.Name]))
		case PartEnv:
			env[change] = append(env[change], k.Name)
		case PartMount:
			mounts[change] = append(mounts[change], k.Name)
		case PartCredential:
			reasons = append(reasons, [3]string{"connector " + k.Name + " added", "connector " + k.Name + " removed", "credential " + k.Name + " changed"}[change])
		case PartFile:
			files = append(files, k.Name)
		default:
			reasons = append(reasons, k.String()+" changed")
		}
	}
	for i, verb := range []string{"added", "removed", "changed"} {
		if n := len(env[i]); n > 0 {
			reasons = append(reasons, fmt.Sprintf("environment variable%s %s %s", plural(n), listSome(env[i]), verb))
		}
	}
	for i, verb := range []string{"added", "removed", "changed"} {
		if n := len(mounts[i]); n > 0 {
			reasons = append(reasons, fmt.Sprintf("mount%s of %s %s", plural(n), listSome(mounts[i]), verb))
		}
	}
	if len(files) > 0 {
		reasons = append(reasons, listSome(files)+" changed")
	}
	if len(reasons) == 0 {
		if coarse {
			return "the container's environment or settings changed (recorded by an older nectar, which did not keep which)"
		}
		return "configuration changed"
	}
	return strings.Join(reasons, "; ")
}

// settingChange says how one container setting changed, with its values
// when both are known.
func settingChange(name, was, now string) string {
	if was == "" || now == "" {
		return name + " changed"
	}
	return fmt.Sprintf("%s %s → %s", name, was, now)
}

func joinKeys(a, b Parts) Parts {
	out := maps.Clone(a)
	if out == nil {
		out = Parts{}
	}
	for k := range b {
		out[k] = ""
	}
	return out
}
