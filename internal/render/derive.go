package render

import (
	"os"
	"runtime"
	"sync"

	"github.com/nectarhq/nectar/internal/fleet"
)

// DeriveKeys derives, side by side on every CPU, the account keys that
// rendering the given bots will need, so the renders that follow find them
// in the Keyring. Each key costs Hummingbot's 1,000,000 PBKDF2 iterations
// and one account's renders share one key, so a cold start of many
// accounts would otherwise derive them one after another. Only accounts
// with an encrypted file to write are counted: a render that would change
// nothing must still derive nothing. Problems are left for the renders to
// report.
func (r *Renderer) DeriveKeys(fl *fleet.Fleet, bots []string) {
	type account struct {
		password string
		salt     []byte
	}
	need := map[string]account{}
	for _, bot := range bots {
		b := fl.Bots[bot]
		if b == nil {
			continue
		}
		if _, ok := need[b.Account]; ok {
			continue
		}
		p, err := r.plan(fl, bot, nil)
		if err != nil || !r.mustEncrypt(r.InstanceDir(bot), p) {
			continue
		}
		acct := fl.Accounts[b.Account]
		password := acct.Password.Reveal()
		need[b.Account] = account{password, r.accountSalt(acct.Name, password)}
	}
	work := make(chan account)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(need)) {
		wg.Go(func() {
			for a := range work {
				r.keyring.Prepare(a.password, a.salt)
			}
		})
	}
	for _, a := range need {
		work <- a
	}
	close(work)
	wg.Wait()
}

// mustEncrypt reports whether rendering p into inst would encrypt a value:
// an encrypted file is missing, or is not what nectar last wrote for the
// same input (see apply).
func (r *Renderer) mustEncrypt(inst string, p *plan) bool {
	old := readManifest(inst)
	var root *os.Root // opened at the first file there is to read
	defer func() {
		if root != nil {
			root.Close()
		}
	}()
	for _, f := range p.files {
		if f.kind != encryptedFile {
			continue
		}
		entry, ok := old.Files[f.path]
		if !ok || entry.Content != f.content.String() {
			return true
		}
		if root == nil {
			var err error
			if root, err = os.OpenRoot(inst); err != nil {
				return true
			}
		}
		have, modeOK, err := readInstanceFile(root, f.path)
		if err != nil || have == nil || !modeOK || entry.Disk != r.diskDigest(have).String() {
			return true
		}
	}
	return false
}
