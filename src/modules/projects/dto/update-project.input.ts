import { Field, InputType } from '@nestjs/graphql';
import { IsOptional, Length, Matches, MaxLength } from 'class-validator';

@InputType()
export class UpdateProjectInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 200)
  @Matches(/\S/, { message: 'name must not be blank' })
  name?: string;

  @Field(() => String, { nullable: true, description: 'null clears the description.' })
  @IsOptional()
  @MaxLength(10_000)
  description?: string | null;
}
