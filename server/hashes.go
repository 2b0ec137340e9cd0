package server

// hashCommands returns the hashes command family (not yet implemented).
func hashCommands() []*command { return nil }
