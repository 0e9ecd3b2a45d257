//go:build !unix

package status

// noFollow: the root and the regular-file checks guard the open here.
const noFollow = 0
