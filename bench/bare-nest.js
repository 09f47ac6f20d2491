// The baseline for bench/startup.js: a bare Nest app with one route and nothing else. Run as a
// script it serves that app; bench/bare-ingest.js takes its bootstrap, serveBare().
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { Controller, Get, Module } = require('@nestjs/common');

/** Serves `module` on 127.0.0.1:$PORT with no logger, as both bare apps do; exits with 1 if it cannot. */
function serveBare(module) {
  NestFactory.create(module, { logger: false })
    .then((app) => {
      app.enableShutdownHooks();
      return app.listen(Number(process.env.PORT), '127.0.0.1');
    })
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}

if (require.main === module) {
  class ReadyController {
    ready() {
      return { status: 'ok' };
    }
  }
  Get('health/ready')(ReadyController.prototype, 'ready', Object.getOwnPropertyDescriptor(ReadyController.prototype, 'ready'));
  Controller()(ReadyController);

  class BareModule {}
  Module({ controllers: [ReadyController] })(BareModule);

  serveBare(BareModule);
}

module.exports = { serveBare };
