//go:build !linux

package nsiso_test

import "errors"

func runChild(role string, args []string) error {
	return errors.New("no child roles on this system")
}
