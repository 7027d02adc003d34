// Starts kinesalite (a Kinesis-compatible server, in memory) on 127.0.0.1
// for tests: node kinesalite_launcher.js <kinesalite module dir> <port>
// [<key.pem> <cert.pem>]; with a key and a certificate it serves HTTPS.
// Streams are created, updated and deleted at once. Prints
// "kinesalite listening on 127.0.0.1:<port>" when ready.
'use strict'

const [moduleDir, port, keyFile, certFile] = process.argv.slice(2)
if (!moduleDir || !/^[0-9]+$/.test(port || '') || (keyFile && !certFile)) {
  console.error('usage: node kinesalite_launcher.js <kinesalite module dir> <port> [<key.pem> <cert.pem>]')
  process.exit(2)
}

let kinesalite
try {
  kinesalite = require(require('path').resolve(moduleDir))
} catch (err) {
  console.error('kinesalite: cannot load the module at ' + moduleDir + ': ' + err.message)
  process.exit(1)
}

// A client that disconnects mid-request makes kinesalite throw ECONNRESET
// outside any handler; that must not stop the server under the other tests.
process.on('uncaughtException', (err) => {
  console.error('kinesalite: ignored uncaught exception: ' + (err && err.stack || err))
})

const options = {createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100}
if (keyFile) {
  const fs = require('fs')
  options.ssl = true
  options.key = fs.readFileSync(keyFile)
  options.cert = fs.readFileSync(certFile)
  options.ca = options.cert
}
const server = kinesalite(options)
server.on('error', (err) => {
  console.error('kinesalite: ' + err.message)
  process.exit(1)
})
server.listen(Number(port), '127.0.0.1', () => {
  console.log('kinesalite listening on 127.0.0.1:' + port)
})
