// Package faults holds nectar's fault suite: tests that run the nectar
// binary against the real Docker engine and break things under it (SIGKILL
// at random moments, a wrong or missing identity, the engine restarting)
// to check that it converges afterwards and that no bot's data is lost.
// It has no code of its own.
package faults
