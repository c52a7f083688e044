// Package tray is the Fyne tray menu, settings window and conflict list of
// jax-tray. It talks only to the app's API and events: the menu is rebuilt
// when the mount manager reports a change, never by polling.
//
// The menu's content (State, Menu) is plain data computed off the UI
// goroutine; windows are built and changed on it (fyne.Do).
package tray
