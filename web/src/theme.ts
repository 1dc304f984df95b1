// Light, dark or system theme, kept in localStorage and applied as <html data-theme>.

import { Store } from "./store";

export type ThemeChoice = "light" | "dark" | "system";
const KEY = "pulse-theme";

function stored(): ThemeChoice {
  const value = localStorage.getItem(KEY);
  return value === "light" || value === "dark" ? value : "system";
}

export const themeStore = new Store<ThemeChoice>(stored());

const media = window.matchMedia("(prefers-color-scheme: dark)");

export function effectiveTheme(choice: ThemeChoice = themeStore.get()): "light" | "dark" {
  if (choice === "system") return media.matches ? "dark" : "light";
  return choice;
}

function apply(): void {
  document.documentElement.dataset.theme = effectiveTheme();
}

export function setTheme(choice: ThemeChoice): void {
  localStorage.setItem(KEY, choice);
  themeStore.set(choice);
  apply();
}

/** Apply the theme saved in the server's system settings unless this browser has its own choice. */
export function adoptServerTheme(choice: unknown): void {
  if (localStorage.getItem(KEY) !== null) return;
  if (choice === "light" || choice === "dark" || choice === "system") {
    themeStore.set(choice);
    apply();
  }
}

export function initTheme(): void {
  apply();
  media.addEventListener("change", apply);
}
