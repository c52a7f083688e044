// Package tray is the Fyne tray menu, settings window and conflict list of
// jax-tray. It talks only to the app's API and events.
package tray
