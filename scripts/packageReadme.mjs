// The README that goes into the .vsix (scripts/package.mjs writes it to out/package/README.md and passes it to vsce
// with --readme-path). The extension's details page in VS Code renders the README in a webview whose CSP allows images
// only from https: and data: (`img-src https: data:`), and without a repository URL vsce cannot rewrite relative
// links to https (--no-rewrite-relative-links). So each relative image is inlined as a data: URI (PNG, JPEG, GIF,
// WebP; never SVG, which vsce refuses), and each relative link to another file becomes the file's path in code
// (the details page cannot open it; the file itself ships in the extension's folder). The repository's README.md
// keeps its relative links, which render on a git host and in an editor's preview.
import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MIME = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp' };
const relative = (link) => !/^[a-z][a-z0-9+.-]*:/i.test(link) && !link.startsWith('#');

export function packagedReadme(markdown, readFile = (p) => readFileSync(join(root, p))) {
  // Images first: ![alt](path "title")
  let out = markdown.replace(/!\[([^\]]*)\]\(([^)\s]+)(\s+"[^"]*")?\)/g, (all, alt, link, title = '') => {
    if (!relative(link)) return all;
    const mime = MIME[extname(link).toLowerCase()];
    if (!mime) throw new Error(`README.md: image ${link} is not PNG, JPEG, GIF or WebP (the details page cannot show it)`);
    return `![${alt}](data:${mime};base64,${readFile(link).toString('base64')}${title})`;
  });
  // Then links to other files of the repository: [text](path)
  out = out.replace(/(?<!!)\[([^\]]+)\]\(([^)\s]+)\)/g, (all, text, link) => (!relative(link) ? all : text === link ? `\`${link}\`` : `${text} (\`${link}\`)`));
  return out;
}
