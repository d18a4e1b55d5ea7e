// Starts `autoscale-sim lsp` for .formula files; everything else (errors,
// lints, hover, completion, go-to-definition, formatting) is the server's.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("autoscaleFormula").get("serverPath", "autoscale-sim");
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "autoscaleFormula",
    "Autoscale formulas",
    { run: server, debug: server },
    { documentSelector: [{ language: "autoscale-formula" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
