import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The package's own directory. Code runs both from `src/` (tsx) and from
 * `dist/src/` (built), at different depths, so the root is found by walking
 * up to our package.json rather than by a fixed `../..`.
 */
export function packageRoot(from: string | URL = import.meta.url): string {
  let directory = dirname(fileURLToPath(from));
  for (;;) {
    const manifest = join(directory, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "tributary-ws") {
      return directory;
    }
    const parent = dirname(directory);
    if (parent === directory) throw new Error("cannot find the tributary-ws package directory");
    directory = parent;
  }
}

/** The package's version, as its package.json states it. */
export function packageVersion(root: string = packageRoot()): string {
  return (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
}

/** Where `npm run build` puts the live payments page. */
export function webRoot(root: string = packageRoot()): string {
  return join(root, "web", "dist");
}
