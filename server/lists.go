package server

// listCommands returns the lists command family (not yet implemented).
func listCommands() []*command { return nil }
