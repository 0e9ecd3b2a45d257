package source

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/testenv"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// newSSHKey returns a fresh ed25519 key as OpenSSH PEM and its public half.
func newSSHKey(t *testing.T) ([]byte, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), sshPub
}

// sshGitServer is a minimal SSH server on loopback that lets one client
// key run git-upload-pack, as a git host does. It returns its address and
// host key.
func sshGitServer(t *testing.T, client ssh.PublicKey) (string, ssh.PublicKey) {
	t.Helper()
	requireGit(t)
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	config := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), client.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	config.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSSH(conn, config)
		}
	}()
	return ln.Addr().String(), hostSigner.PublicKey()
}

func serveSSH(conn net.Conn, config *ssh.ServerConfig) {
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, config)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for req := range chReqs {
				if req.Type != "exec" || len(req.Payload) < 4 {
					req.Reply(false, nil)
					continue
				}
				// "git-upload-pack '/path/repo.git'"
				command := string(req.Payload[4:])
				prog, arg, _ := strings.Cut(command, " ")
				if prog != "git-upload-pack" {
					req.Reply(false, nil)
					return
				}
				req.Reply(true, nil)
				cmd := exec.Command("git", "upload-pack", strings.Trim(arg, "'"))
				cmd.Env = append(os.Environ(), testenv.GitEnv...)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, ch.Stderr()
				status := uint32(0)
				if err := cmd.Run(); err != nil {
					status = 1
				}
				ch.SendRequest("exit-status", false, binary.BigEndian.AppendUint32(nil, status))
				return
			}
		}()
	}
}

func TestGitOverSSH(t *testing.T) {
	r := newRepo(t)
	head := r.commitPush(map[string]string{"nectar.yaml": "fleet: ssh\n"})
	key, pub := newSSHKey(t)
	addr, hostKey := sshGitServer(t, pub)
	url := "ssh://git@" + addr + filepath.ToSlash(r.bare)

	dir := t.TempDir()
	keyFile := filepath.Join(dir, "id_ed25519")
	knownHosts := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(knownHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, otherHost := newSSHKey(t)
	wrongHosts := filepath.Join(dir, "wrong_known_hosts")
	if err := os.WriteFile(wrongHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, otherHost)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	strangerKey, _ := newSSHKey(t)

	t.Run("key file and known_hosts", func(t *testing.T) {
		src := openGit(t, Spec{Source: url, SSHKeyFile: keyFile, KnownHostsFile: knownHosts})
		if snap := snapshot(t, src); snap.Revision != "main@sha1:"+head {
			t.Errorf("revision %s", snap.Revision)
		}
	})
	t.Run("key text from the environment", func(t *testing.T) {
		env := map[string]string{EnvGitSSHKey: string(key), EnvGitKnownHosts: knownHosts}
		src, err := open(Spec{Source: url}, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if snap := snapshot(t, src); snap.Revision != "main@sha1:"+head {
			t.Errorf("revision %s", snap.Revision)
		}
	})
	t.Run("unknown host key", func(t *testing.T) {
		src := openGit(t, Spec{Source: url, SSHKeyFile: keyFile, KnownHostsFile: wrongHosts})
		snap, err := src.Snapshot(context.Background())
		if err == nil || snap.FS != nil {
			t.Fatal("connected to a host whose key is not the known one")
		}
		if !strings.Contains(err.Error(), "key mismatch") {
			t.Errorf("error %v, want it to be about the host key", err)
		}
	})
	t.Run("key not authorized", func(t *testing.T) {
		env := map[string]string{EnvGitSSHKey: string(strangerKey)}
		src, err := open(Spec{Source: url, KnownHostsFile: knownHosts}, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Snapshot(context.Background())
		if err == nil {
			t.Fatal("an unauthorized key was let in")
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("the error shows the key: %v", err)
		}
	})
}
