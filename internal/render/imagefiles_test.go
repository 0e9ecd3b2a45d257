package render

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The image's own scripts and controllers reach the instance folder beside
// the fleet's; the fleet's file wins a clash; the bot's digest does not
// depend on them; and a file the next image no longer ships goes.
func TestImageFiles(t *testing.T) {
	t.Parallel()
	r, dir := newTestRenderer(t, nil)
	f := testFleet()
	inst := filepath.Join(dir, "instances", "alpha")
	image := ImageFiles{
		"scripts/v2_with_controllers.py":      []byte("# the image's loader\n"),
		"scripts/simple_pmm.py":               []byte("# the image's own simple_pmm\n"),
		"controllers/__init__.py":             []byte(""),
		"controllers/generic/grid_strike.py":  []byte("# built-in controller\n"),
		"controllers/market_making/pmm_v1.py": []byte("# the image's pmm_v1\n"),
	}
	before, err := r.Digest(f, "alpha")
	must(t, err)

	res, err := r.Render(f, "alpha", image)
	must(t, err)
	if res.Digest != before {
		t.Errorf("the image's files changed the bot's digest")
	}
	for p, want := range map[string]string{
		"scripts/v2_with_controllers.py":      "# the image's loader\n",
		"controllers/generic/grid_strike.py":  "# built-in controller\n",
		"controllers/__init__.py":             "",
		"scripts/simple_pmm.py":               "# a script\nprint('pmm')\n", // the fleet's
		"controllers/market_making/pmm_v1.py": "# a controller\n",           // the fleet's
	} {
		if got := readFile(t, filepath.Join(inst, p)); got != want {
			t.Errorf("%s = %q, want %q", p, got, want)
		}
	}
	if got := Shadowed(f, image); !slices.Equal(got, []string{"controllers/market_making/pmm_v1.py", "scripts/simple_pmm.py"}) {
		t.Errorf("Shadowed = %q", got)
	}

	// The same image again: nothing to do.
	res, err = r.Render(f, "alpha", image)
	must(t, err)
	if res.Changed() {
		t.Errorf("a second render changed %q / %q", res.Written, res.Removed)
	}

	// The fleet drops its simple_pmm.py: the image's own takes its place.
	f.Shared = slices.DeleteFunc(f.Shared, func(p string) bool { return p == "scripts/simple_pmm.py" })
	res, err = r.Render(f, "alpha", image)
	must(t, err)
	if !slices.Contains(res.Written, "scripts/simple_pmm.py") {
		t.Errorf("Written = %q, want the image's simple_pmm.py", res.Written)
	}
	if got := readFile(t, filepath.Join(inst, "scripts/simple_pmm.py")); got != "# the image's own simple_pmm\n" {
		t.Errorf("simple_pmm.py = %q", got)
	}

	// A newer image no longer ships grid_strike: it leaves the folder.
	next := ImageFiles{"scripts/v2_with_controllers.py": []byte("# the image's loader, v2\n")}
	res, err = r.Render(f, "alpha", next)
	must(t, err)
	for _, gone := range []string{"controllers/generic/grid_strike.py", "controllers/__init__.py", "scripts/simple_pmm.py"} {
		if !slices.Contains(res.Removed, gone) {
			t.Errorf("Removed = %q, want %s in it", res.Removed, gone)
		}
		if _, err := os.Stat(filepath.Join(inst, gone)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there: %v", gone, err)
		}
	}
	if got := readFile(t, filepath.Join(inst, "scripts/v2_with_controllers.py")); got != "# the image's loader, v2\n" {
		t.Errorf("loader = %q", got)
	}
}

// An image file outside scripts/ and controllers/ is refused before
// anything is written: an image cannot reach conf/ or data/.
func TestImageFilesStayInTheirFolders(t *testing.T) {
	t.Parallel()
	r, _ := newTestRenderer(t, nil)
	for _, p := range []string{"conf/conf_client.yml", "data/x", "scripts/../conf/x", "/scripts/x", "conf/scripts/x.yml", "scripts"} {
		_, err := r.Render(testFleet(), "alpha", ImageFiles{p: []byte("x")})
		if err == nil || !strings.Contains(err.Error(), "image file") {
			t.Errorf("%q: err = %v, want a refusal", p, err)
		}
	}
}
