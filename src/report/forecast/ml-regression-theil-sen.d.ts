/**
 * Types for ml-regression-theil-sen 3 (mljs), which ships none: the Theil–Sen estimator
 * (Sen 1968; Theil 1950). `slope` is the median of the pairwise slopes of points with
 * distinct x; `intercept` the median of `y - slope·x`.
 */
declare module "ml-regression-theil-sen" {
  export class TheilSenRegression {
    constructor(x: readonly number[], y: readonly number[]);
    readonly slope: number;
    readonly intercept: number;
    predict(x: number): number;
  }
}
