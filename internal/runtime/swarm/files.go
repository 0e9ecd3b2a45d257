package swarm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/scrub"
)

// A bot's files (runtime.Spec.Files) reach its task by content: a secret
// file as a Swarm secret (encrypted in the managers' log, handed only to
// the node running the task, mounted from memory), any other as a Swarm
// config. Both cannot change once made, so each is named by the service,
// the file's target and its digest: the same content is the same object
// and new content a new one, which an update switches the service to
// before the old one is removed.

// Labels on every secret and config nectar makes, besides the fleet's and
// the bot's: the service that uses it (so an update or a remove finds the
// ones it no longer needs) and the path it is mounted at (for a person
// reading `docker secret ls`). Neither says anything of the content.
const (
	LabelService = "nectar.service"
	LabelTarget  = "nectar.target"
)

// Owner and modes of the mounted files. Upstream Hummingbot's Dockerfile
// sets no USER, so the bot runs as root (uid 0, gid 0), the base image's
// user: files owned by root are readable by the bot, secrets by it alone.
const (
	fileUID    = "0"
	fileGID    = "0"
	secretMode = os.FileMode(0o400)
	configMode = os.FileMode(0o444)
)

// Swarm's limits on a secret or config: a name of at most 64 characters,
// data of 1 byte to 500 KiB.
const (
	maxObjectName  = 64
	maxObjectBytes = 500 * 1024
)

// nameHashLen is how many hex digits of the digest a name carries: 96
// bits, so two different files never share a name by chance.
const nameHashLen = 24

// ObjectName is the name of the secret or config holding one file of a
// service: a readable prefix (service and file name, cut to fit) and a
// hash of the service, the target and the file's digest. It is within
// Swarm's 64 characters and its alphabet.
func ObjectName(service, target, digest string) string {
	h := sha256.New()
	for _, s := range []string{service, target, digest} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	sum := hex.EncodeToString(h.Sum(nil))[:nameHashLen]
	readable := nameSafe(service + "." + strings.TrimLeft(path.Base(target), "."))
	readable = strings.TrimLeft(readable, "-_.")
	if max := maxObjectName - 1 - nameHashLen; len(readable) > max {
		readable = readable[:max]
	}
	readable = strings.TrimRight(readable, "-_.")
	if readable == "" {
		return sum
	}
	return readable + "-" + sum
}

// nameSafe replaces what Swarm refuses in a name ([A-Za-z0-9_.-] only)
// with "-".
func nameSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '-'
	}, s)
}

// object is a secret or a config, as far as nectar needs to know one.
type object struct{ ID, Name string }

// store is one of Swarm's two stores of immutable files, secrets or
// configs, behind one set of calls so the code that ensures and removes
// them is written once.
type store struct {
	noun   string // "secret" or "config"
	list   func(ctx context.Context, f filters.Args) ([]object, error)
	byName func(ctx context.Context, name string) (object, error)
	create func(ctx context.Context, a swarm.Annotations, data []byte) (string, error)
	remove func(ctx context.Context, id string) error
}

func (e *Engine) secrets() store {
	return store{
		noun: "secret",
		list: func(ctx context.Context, f filters.Args) ([]object, error) {
			l, err := e.cli.SecretList(ctx, swarm.SecretListOptions{Filters: f})
			out := make([]object, len(l))
			for i, s := range l {
				out[i] = object{s.ID, s.Spec.Name}
			}
			return out, err
		},
		byName: func(ctx context.Context, name string) (object, error) {
			s, _, err := e.cli.SecretInspectWithRaw(ctx, name)
			return object{s.ID, s.Spec.Name}, err
		},
		create: func(ctx context.Context, a swarm.Annotations, data []byte) (string, error) {
			r, err := e.cli.SecretCreate(ctx, swarm.SecretSpec{Annotations: a, Data: data})
			return r.ID, err
		},
		remove: e.cli.SecretRemove,
	}
}

func (e *Engine) configs() store {
	return store{
		noun: "config",
		list: func(ctx context.Context, f filters.Args) ([]object, error) {
			l, err := e.cli.ConfigList(ctx, swarm.ConfigListOptions{Filters: f})
			out := make([]object, len(l))
			for i, c := range l {
				out[i] = object{c.ID, c.Spec.Name}
			}
			return out, err
		},
		byName: func(ctx context.Context, name string) (object, error) {
			c, _, err := e.cli.ConfigInspectWithRaw(ctx, name)
			return object{c.ID, c.Spec.Name}, err
		},
		create: func(ctx context.Context, a swarm.Annotations, data []byte) (string, error) {
			r, err := e.cli.ConfigCreate(ctx, swarm.ConfigSpec{Annotations: a, Data: data})
			return r.ID, err
		},
		remove: e.cli.ConfigRemove,
	}
}

// made is an object a call created, so that a call that fails after it
// can take it back.
type made struct {
	store store
	obj   object
}

// checkFiles refuses files Swarm could not mount as asked: a target that
// is not a clean absolute path, two files at one target, a file without a
// digest (it could not be named by content).
func checkFiles(files []runtime.File) error {
	seen := map[string]bool{}
	for _, f := range files {
		switch {
		case !path.IsAbs(f.Target) || path.Clean(f.Target) != f.Target:
			return fmt.Errorf("file target %q is not a clean absolute path", f.Target)
		case seen[f.Target]:
			return fmt.Errorf("two files have the target %s: give each file its own path", f.Target)
		case f.Digest == "":
			return fmt.Errorf("file %s has no digest: the caller names each file's content", f.Target)
		}
		seen[f.Target] = true
	}
	return nil
}

// serviceFilter selects the objects labelled for one service of a fleet.
func serviceFilter(fleet, service string) filters.Args {
	return filters.NewArgs(
		filters.Arg("label", runtime.LabelFleet+"="+fleet),
		filters.Arg("label", LabelService+"="+service),
	)
}

// attachFiles makes the secrets and configs of spec.Files that do not
// exist yet (an object of the right name is reused as it is: its name
// says its content, and Data is not needed for it) and mounts them in cs.
// It returns what it created, for undo. Two list calls find what exists;
// only missing objects cost a call each.
func (e *Engine) attachFiles(ctx context.Context, spec runtime.Spec, cs *swarm.ContainerSpec) ([]made, error) {
	if len(spec.Files) == 0 {
		return nil, nil
	}
	if err := checkFiles(spec.Files); err != nil {
		return nil, err
	}
	stores := map[bool]store{true: e.secrets(), false: e.configs()}
	have := map[bool]map[string]string{}
	for secret, st := range stores {
		list, err := st.list(ctx, serviceFilter(spec.Labels[runtime.LabelFleet], spec.Name))
		if err != nil {
			return nil, wrap("list the "+st.noun+"s of service "+spec.Name, err)
		}
		have[secret] = map[string]string{}
		for _, o := range list {
			have[secret][o.Name] = o.ID
		}
	}
	var out []made
	for _, f := range spec.Files {
		st := stores[f.Secret]
		name := ObjectName(spec.Name, f.Target, f.Digest)
		id, created, err := e.ensure(ctx, st, spec, f, name, have[f.Secret][name])
		if err != nil {
			e.undo(ctx, out)
			return nil, err
		}
		if created {
			out = append(out, made{st, object{id, name}})
		}
		mountFile(cs, f, id, name)
	}
	return out, nil
}

// mountFile adds the reference that mounts object id at f.Target.
func mountFile(cs *swarm.ContainerSpec, f runtime.File, id, name string) {
	if f.Secret {
		cs.Secrets = append(cs.Secrets, &swarm.SecretReference{SecretID: id, SecretName: name,
			File: &swarm.SecretReferenceFileTarget{Name: f.Target, UID: fileUID, GID: fileGID, Mode: secretMode}})
		return
	}
	cs.Configs = append(cs.Configs, &swarm.ConfigReference{ConfigID: id, ConfigName: name,
		File: &swarm.ConfigReferenceFileTarget{Name: f.Target, UID: fileUID, GID: fileGID, Mode: configMode}})
}

// ensure returns the ID of the object named name, creating it from f.Data
// when it does not exist (id is what the list found, "" for none). Another
// writer may create it between the list and the create; then it is read
// by name.
func (e *Engine) ensure(ctx context.Context, st store, spec runtime.Spec, f runtime.File, name, id string) (string, bool, error) {
	if id != "" {
		return id, false, nil
	}
	op := "create " + st.noun + " " + name + " for " + f.Target + " of service " + spec.Name
	switch {
	case len(f.Data) == 0:
		return "", false, fmt.Errorf("%s: no %s of that name exists and the file's content was not given (Swarm keeps no empty file either): render the bot's files again", op, st.noun)
	case len(f.Data) > maxObjectBytes:
		return "", false, fmt.Errorf("%s: the file is %d bytes, Swarm keeps at most %d in a %s: make it smaller", op, len(f.Data), maxObjectBytes, st.noun)
	}
	labels := map[string]string{
		runtime.LabelFleet: spec.Labels[runtime.LabelFleet],
		runtime.LabelBot:   spec.Labels[runtime.LabelBot],
		LabelService:       spec.Name,
		LabelTarget:        f.Target,
	}
	newID, err := st.create(ctx, swarm.Annotations{Name: name, Labels: labels}, f.Data)
	if err == nil {
		return newID, true, nil
	}
	if cerrdefs.IsConflict(err) || strings.Contains(err.Error(), "already exists") {
		if o, ierr := st.byName(ctx, name); ierr == nil {
			return o.ID, false, nil
		}
	}
	// Swarm has no reason to quote the content; should it, it goes.
	w := wrap(op, err)
	return "", false, &runtime.EngineError{Op: op, Kind: w.Kind, Err: errors.New(scrub.Text(err.Error(), string(f.Data)))}
}

// undo removes objects a failed call created; what cannot be removed now
// goes with the service's next update or remove.
func (e *Engine) undo(ctx context.Context, objs []made) {
	for _, m := range objs {
		_ = m.store.remove(ctx, m.obj.ID)
	}
}

// removeUnused removes the secrets and configs labelled for the service
// that cs does not reference (all of them when cs is nil). One in use
// (Swarm refuses while a service's spec names it) is left, and named in
// the result, for a later update or remove; one already gone is no
// matter; any other refusal is returned, naming the object so a person
// can remove it.
func (e *Engine) removeUnused(ctx context.Context, fleet, service string, cs *swarm.ContainerSpec) ([]string, error) {
	keep := map[string]bool{}
	if cs != nil {
		for _, s := range cs.Secrets {
			keep[s.SecretID] = true
		}
		for _, c := range cs.Configs {
			keep[c.ConfigID] = true
		}
	}
	var errs []error
	var left []string
	for _, st := range []store{e.secrets(), e.configs()} {
		list, err := st.list(ctx, serviceFilter(fleet, service))
		if err != nil {
			errs = append(errs, wrap("list the "+st.noun+"s of service "+service, err))
			continue
		}
		for _, o := range list {
			if keep[o.ID] {
				continue
			}
			switch err := st.remove(ctx, o.ID); {
			case err == nil, cerrdefs.IsNotFound(err):
			case inUse(err):
				left = append(left, st.noun+" "+o.Name)
			default:
				errs = append(errs, fmt.Errorf("cannot remove %s %s of service %s (docker %s rm %s): %w", st.noun, o.Name, service, st.noun, o.Name, err))
			}
		}
	}
	return left, errors.Join(errs...)
}

// filesWait bounds how long Remove waits for Swarm to let the secrets and
// configs of a removed service go.
const filesWait = 10 * time.Second

// removeFiles removes every secret and config labelled for a service that
// was just removed, waiting a moment for any Swarm still counts as in use.
func (e *Engine) removeFiles(ctx context.Context, fleet, service string) error {
	deadline := time.Now().Add(filesWait)
	for {
		left, err := e.removeUnused(ctx, fleet, service, nil)
		if err != nil || len(left) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s is removed, but Swarm still says %s in use after %s: remove them by hand once no service names them (docker secret rm, docker config rm)", service, strings.Join(left, ", "), filesWait)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cannot remove the secrets and configs of service %s: %w", service, ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// inUse reports Swarm's refusal to remove a secret or config a service
// still names.
func inUse(err error) bool { return strings.Contains(err.Error(), "in use") }
