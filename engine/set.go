package engine

import "fmt"

// The set type's effects (ops from opSetFirst): not yet implemented.

func appendSetFields(dst []byte, ef *Effect) []byte { return dst }

func decodeSetFields(d *decoder, ef *Effect) bool { return false }

func (tx *Tx) applySet(ef *Effect) error {
	return fmt.Errorf("engine: apply: unknown op %d", ef.Op)
}
