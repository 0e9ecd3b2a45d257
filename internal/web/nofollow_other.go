//go:build !unix

package web

// noFollow: the root and the regular-file checks guard the open here.
const noFollow = 0
