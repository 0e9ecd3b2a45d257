//go:build !linux

package manage

// isMemoryFS: off Linux nectar does not know how to tell a memory-backed
// folder (the file system magic numbers statfs gives are Linux's), so no
// folder counts as one and editing a credential is refused rather than
// risking a plaintext copy on disk.
func isMemoryFS(string) bool { return false }
