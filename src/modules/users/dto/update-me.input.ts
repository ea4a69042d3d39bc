import { Field, InputType } from '@nestjs/graphql';
import { Length, Matches } from 'class-validator';

@InputType()
export class UpdateMeInput {
  @Field()
  @Length(1, 200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name: string;
}
