import { Field, InputType } from '@nestjs/graphql';
import { IsOptional, Length, Matches, MaxLength } from 'class-validator';

@InputType()
export class CreateProjectInput {
  @Field()
  @Length(1, 200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(10_000)
  description?: string | null;
}
