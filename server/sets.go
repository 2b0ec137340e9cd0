package server

// setCommands returns the sets command family (not yet implemented).
func setCommands() []*command { return nil }
