// Learning-rate schedules as multipliers of each group's base lr, with PyTorch's LambdaLR semantics:
// at construction the lr becomes base * f(0); each step() advances the epoch and sets base * f(epoch).
// The factor functions reproduce Hugging Face transformers' get_*_schedule_with_warmup exactly.

/** A multiplier of the base learning rate as a function of the scheduler's step count. */
export type LrLambda = (step: number) => number;

function checkSteps(where: string, warmup: number, total?: number): void {
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`${where}: warmup steps must be an integer >= 0, got ${warmup}`);
  if (total !== undefined && (!Number.isInteger(total) || total < 0)) {
    throw new RangeError(`${where}: total training steps must be an integer >= 0, got ${total}`);
  }
}

/** HF get_cosine_schedule_with_warmup: linear warmup from 0, then a cosine over numCycles (0.5: down to 0). */
export function cosineWithWarmup(warmupSteps: number, totalSteps: number, numCycles = 0.5): LrLambda {
  checkSteps('cosineWithWarmup', warmupSteps, totalSteps);
  return (step) => {
    if (step < warmupSteps) return step / Math.max(1, warmupSteps);
    const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
  };
}

/** HF get_linear_schedule_with_warmup: linear warmup, then linear decay to 0 at totalSteps. */
export function linearWithWarmup(warmupSteps: number, totalSteps: number): LrLambda {
  checkSteps('linearWithWarmup', warmupSteps, totalSteps);
  return (step) => {
    if (step < warmupSteps) return step / Math.max(1, warmupSteps);
    return Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
  };
}

/** HF get_constant_schedule_with_warmup (warmupSteps 0: get_constant_schedule). */
export function constantWithWarmup(warmupSteps = 0): LrLambda {
  checkSteps('constantWithWarmup', warmupSteps);
  return (step) => (step < warmupSteps ? step / Math.max(1, warmupSteps) : 1);
}

/** Warmup steps from a ratio of the total, as HF's TrainingArguments.get_warmup_steps (ceil). */
export function warmupStepsFromRatio(ratio: number, totalSteps: number): number {
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`warmup ratio must be in [0, 1], got ${ratio}`);
  return Math.ceil(totalSteps * ratio);
}

export interface LambdaLRState { lastEpoch: number; baseLrs: number[] }

/** torch.optim.lr_scheduler.LambdaLR over anything with parameter groups that have an lr. */
export class LambdaLR {
  readonly baseLrs: number[];
  private readonly lambdas: LrLambda[];
  lastEpoch = -1;

  constructor(readonly optimizer: { paramGroups: { lr: number }[] }, lambdas: LrLambda | LrLambda[]) {
    const groups = optimizer.paramGroups;
    this.lambdas = Array.isArray(lambdas) ? lambdas : groups.map(() => lambdas);
    if (this.lambdas.length !== groups.length) {
      throw new RangeError(`LambdaLR: ${this.lambdas.length} lambdas for ${groups.length} parameter groups`);
    }
    this.baseLrs = groups.map((g) => g.lr);
    this.step();
  }

  /** Advances one step and sets each group's lr = base lr * lambda(step). */
  step(): void {
    this.lastEpoch++;
    this.optimizer.paramGroups.forEach((g, i) => { g.lr = this.baseLrs[i] * this.lambdas[i](this.lastEpoch); });
  }

  /** The learning rates set by the last step(). */
  getLastLr(): number[] { return this.optimizer.paramGroups.map((g) => g.lr); }

  stateDict(): LambdaLRState { return { lastEpoch: this.lastEpoch, baseLrs: [...this.baseLrs] }; }

  loadStateDict(s: LambdaLRState): void {
    if (!Number.isInteger(s?.lastEpoch) || !Array.isArray(s.baseLrs) || s.baseLrs.length !== this.baseLrs.length) {
      throw new RangeError(`LambdaLR.loadStateDict: expected { lastEpoch, baseLrs[${this.baseLrs.length}] }, got ${JSON.stringify(s)}`);
    }
    this.baseLrs.splice(0, this.baseLrs.length, ...s.baseLrs);
    this.lastEpoch = s.lastEpoch;
    this.optimizer.paramGroups.forEach((g, i) => { g.lr = this.baseLrs[i] * this.lambdas[i](this.lastEpoch); });
  }
}
