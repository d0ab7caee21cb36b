// E3-in-a-box stand-in for the cluster's ingress (and Vault's CRL behind it): HTTPS with a
// certificate from the test's platform CA, run by the test inside the box's network namespace.
// argv: port certFile keyFile crlFile logFile. The CRL is read from crlFile on each request;
// while crlFile + ".down" exists the CRL answers 503 (Vault down). Every other path is echoed
// as JSON (method, url, headers); /onboarding/slow answers after 3 s. Each URL is logged.
const fs = require("node:fs");
const https = require("node:https");
const { setTimeout } = require("node:timers");
const [port, certFile, keyFile, crlFile, logFile] = process.argv.slice(2);
const server = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, (req, res) => {
  fs.appendFileSync(logFile, `${req.method} ${req.url}\n`);
  req.resume();
  req.on("end", () => {
    if (req.url === "/vault/v1/pki-devices/crl/pem") {
      if (fs.existsSync(`${crlFile}.down`)) {
        res.statusCode = 503;
        res.end("Vault is sealed\n");
        return;
      }
      res.end(fs.readFileSync(crlFile));
      return;
    }
    const answer = () => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
    };
    if (req.url.startsWith("/onboarding/slow")) setTimeout(answer, 3000);
    else answer();
  });
});
server.listen(Number(port), "127.0.0.1", () => console.log("ready"));
