// The baseline for bench/startup.js: a bare Nest app with one route and nothing else.
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { Controller, Get, Module } = require('@nestjs/common');

class ReadyController {
  ready() {
    return { status: 'ok' };
  }
}
Get('health/ready')(ReadyController.prototype, 'ready', Object.getOwnPropertyDescriptor(ReadyController.prototype, 'ready'));
Controller()(ReadyController);

class BareModule {}
Module({ controllers: [ReadyController] })(BareModule);

NestFactory.create(BareModule, { logger: false })
  .then((app) => {
    app.enableShutdownHooks();
    return app.listen(Number(process.env.PORT), '127.0.0.1');
  })
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
