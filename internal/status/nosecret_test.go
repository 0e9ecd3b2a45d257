package status_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/nectarhq/nectar/internal/fleet"
	"github.com/nectarhq/nectar/internal/status"
	"github.com/nectarhq/nectar/internal/status/statustest"
)

// At every step of the story, nothing the Store keeps or hands out holds a
// secret: the fleet's passwords and credentials stay with the reconciler.
func TestStoreHoldsNoSecret(t *testing.T) {
	bad := statustest.Secrets(t)
	steps := statustest.Story(t)
	clk := statustest.NewClock(statustest.T0)
	s := status.NewStore(status.StoreOptions{Source: statustest.SourceURL, Files: statustest.RenderedFiles, Derivations: func() uint64 { return 3 }, Now: clk.Now})
	for i := range steps {
		statustest.Play(t, s, clk, steps[i:i+1], 1)
		view, _ := json.Marshal(s.View())
		for _, b := range bad {
			if bytes.Contains(view, []byte(b.Value)) {
				t.Errorf("%s: View contains %s", steps[i].Name, b.What)
			}
		}
		checkStoreHoldsNoSecret(t, s, bad)
	}
}

// checkStoreHoldsNoSecret walks everything the Store keeps, unexported
// fields included: no fleet.Secret, no fleet, no string with a secret in it.
func checkStoreHoldsNoSecret(t *testing.T, s *status.Store, bad []statustest.Secret) {
	t.Helper()
	secretType := reflect.TypeFor[fleet.Secret]()
	fleetType := reflect.TypeFor[fleet.Fleet]()
	seen := map[uintptr]bool{}
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Type() {
		case secretType:
			t.Errorf("the Store keeps a fleet.Secret at %s", path)
			return
		case fleetType:
			t.Errorf("the Store keeps a fleet.Fleet at %s; it holds passwords and credentials", path)
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			walk(path, v.Elem())
		case reflect.Interface:
			if !v.IsNil() {
				walk(path, v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(path+"[]", v.Index(i))
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				walk(path+"{key}", it.Key())
				walk(path+"{}", it.Value())
			}
		case reflect.String:
			for _, b := range bad {
				if strings.Contains(v.String(), b.Value) {
					t.Errorf("the Store keeps %s at %s", b.What, path)
				}
			}
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			for _, b := range bad {
				if bytes.Contains(v.Bytes(), []byte(b.Value)) {
					t.Errorf("the Store keeps %s at %s", b.What, path)
				}
			}
		}
	}
	s.Internals(func(state, snapshot any) {
		walk("st", reflect.ValueOf(state).Elem())
		walk("snapshot", reflect.ValueOf(snapshot).Elem())
	})
}
