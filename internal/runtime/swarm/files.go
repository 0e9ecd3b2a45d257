package swarm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/nectarhq/nectar/internal/runtime"
	"github.com/nectarhq/nectar/internal/scrub"
)

// SecretFile is one file a bot reads that must never sit on a disk: a
// connector's credentials, the password verification file. Swarm keeps it
// encrypted in the managers' log and hands it only to the node running a
// task that uses it, which mounts it from memory.
type SecretFile struct {
	// Target is the file's absolute path in the container.
	Target string
	Data   []byte
	// Mode is the file's mode in the container (0400 when zero).
	Mode os.FileMode
}

// SecretName is the name of the secret holding data for bot: the bot's
// service name and a digest of the target and the content. Secrets cannot
// change, so new content is a new secret, and the same content is the
// same one.
func SecretName(service, target string, data []byte) string {
	h := sha256.New()
	h.Write([]byte(target))
	h.Write([]byte{0})
	h.Write(data)
	return service + "-" + hex.EncodeToString(h.Sum(nil))[:24]
}

// EnsureSecret creates the secret for one file of a bot (or finds it,
// when one of that name exists: the name says its content) and returns
// the reference that mounts it at f.Target. The secret carries the fleet
// and bot labels, so those of a removed bot can be found.
func (e *Engine) EnsureSecret(ctx context.Context, spec runtime.Spec, f SecretFile) (*swarm.SecretReference, error) {
	if !path.IsAbs(f.Target) || path.Clean(f.Target) != f.Target {
		return nil, fmt.Errorf("secret of %s: target %q is not a clean absolute path", spec.Name, f.Target)
	}
	name := SecretName(spec.Name, f.Target, f.Data)
	op := "create secret " + name + " for " + f.Target
	mode := f.Mode
	if mode == 0 {
		mode = 0o400
	}
	ref := &swarm.SecretReference{SecretName: name, File: &swarm.SecretReferenceFileTarget{Name: f.Target, UID: "0", GID: "0", Mode: mode}}
	found, err := e.cli.SecretList(ctx, swarm.SecretListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return nil, wrap(op, err)
	}
	for _, s := range found {
		// The name filter matches prefixes too.
		if s.Spec.Name == name {
			ref.SecretID = s.ID
			return ref, nil
		}
	}
	resp, err := e.cli.SecretCreate(ctx, swarm.SecretSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{
			runtime.LabelFleet: spec.Labels[runtime.LabelFleet],
			runtime.LabelBot:   spec.Labels[runtime.LabelBot],
		}},
		Data: f.Data,
	})
	if err != nil {
		// Swarm has no reason to quote the content; should it, it goes.
		return nil, &engineError{op: op, kind: wrap(op, err).kind, err: errors.New(scrub.Text(err.Error(), string(f.Data)))}
	}
	ref.SecretID = resp.ID
	return ref, nil
}

// CreateWithSecrets is Create with the given files mounted as secrets,
// made first (see EnsureSecret).
func (e *Engine) CreateWithSecrets(ctx context.Context, spec runtime.Spec, files []SecretFile) (string, error) {
	op := "create service " + spec.Name
	if spec.Name == "" || spec.Image == "" {
		return "", fmt.Errorf("%s: the spec needs a name and an image", op)
	}
	svc, err := e.serviceSpec(ctx, spec)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	for _, f := range files {
		ref, err := e.EnsureSecret(ctx, spec, f)
		if err != nil {
			return "", err
		}
		svc.TaskTemplate.ContainerSpec.Secrets = append(svc.TaskTemplate.ContainerSpec.Secrets, ref)
	}
	resp, err := e.cli.ServiceCreate(ctx, svc, swarm.ServiceCreateOptions{})
	if err != nil {
		return "", withoutEnv(wrap(op, err), spec.Env)
	}
	return resp.ID, nil
}
