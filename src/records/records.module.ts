import { Module } from '@nestjs/common';
import { GuardiansController } from './guardians.controller';
import { GuardiansService } from './guardians.service';
import { RecordsController } from './records.controller';
import { RecordsService } from './records.service';

@Module({
  controllers: [GuardiansController, RecordsController],
  providers: [GuardiansService, RecordsService],
  exports: [GuardiansService, RecordsService],
})
export class RecordsModule {}
