import * as v from '../_validate';

// before the class: its static benchmarks are built when the class is defined
/**
 * Each task family's primary metric: exact names first, then the longest family prefix
 * (`kmmlu_direct_law` is kmmlu_direct's), then `acc`. Mirrors the trainer's `PRIMARY_METRIC`.
 */
const PRIMARY_METRIC: { [task: string]: string } = {
  kobest: 'acc',
  kobest_hellaswag: 'acc_norm',
  kmmlu: 'acc',
  kmmlu_direct: 'exact_match',
  haerae: 'acc_norm',
  click: 'acc',
  kormedmcqa: 'exact_match',
  mmlu: 'acc',
  arc_easy: 'acc_norm',
  arc_challenge: 'acc_norm',
  hellaswag: 'acc_norm',
  winogrande: 'acc',
};

function primaryMetric(task: string): string {
  if (PRIMARY_METRIC[task]) return PRIMARY_METRIC[task];
  const families = Object.keys(PRIMARY_METRIC).filter((f) => task.startsWith(`${f}_`)).sort((a, b) => b.length - a.length);
  return families.length > 0 ? PRIMARY_METRIC[families[0]] : 'acc';
}

/**
 * A Korean benchmark of EleutherAI's lm-evaluation-harness (the evaluate step's `EVAL_TASKS`).
 */
export class KoreanBenchmark {
  /** KoBEST: BoolQ, COPA, HellaSwag, SentiNeg, WiC in Korean. */
  public static readonly KOBEST = new KoreanBenchmark('kobest');
  /** KMMLU: 45 subjects of Korean expert knowledge. */
  public static readonly KMMLU = new KoreanBenchmark('kmmlu');
  /** HAE-RAE Bench: Korean general knowledge, history, loan words, rare words, nomenclature. */
  public static readonly HAERAE = new KoreanBenchmark('haerae');
  /** CLIcK: cultural and linguistic intelligence in Korean. */
  public static readonly CLICK = new KoreanBenchmark('click');
  /** KBL: Korean bar exam and legal tasks. */
  public static readonly KBL = new KoreanBenchmark('kbl');
  /** KorMedMCQA: Korean medical licensing questions. */
  public static readonly KORMEDMCQA = new KoreanBenchmark('kormedmcqa');

  /**
   * A task or group of one of the Korean benchmark families above, by its lm-evaluation-harness
   * name: `kmmlu_hard`, `kmmlu_direct_law`, `kobest_copa`, `haerae_history`. A name outside those
   * families (a typo such as `kobset`) fails; use `custom()` for a task of your own.
   */
  public static of(taskName: string): KoreanBenchmark {
    checkTaskName(taskName);
    const family = KNOWN_FAMILIES.find((f) => taskName === f || taskName.startsWith(`${f}_`));
    if (!family) {
      v.fail('benchmark', taskName, `a task of a Korean lm-evaluation-harness family (${KNOWN_FAMILIES.join(', ')}, or one of their tasks such as 'kmmlu_hard'); use KoreanBenchmark.custom(...) for a task of your own`);
    }
    return new KoreanBenchmark(taskName, false);
  }

  /**
   * Any lm-evaluation-harness task or group name, unchecked (`isCustom` is true): a task of your own
   * registered in the trainer image, or one outside the Korean families. The harness fails the
   * evaluate step at run time when it does not know the name.
   */
  public static custom(taskName: string): KoreanBenchmark {
    checkTaskName(taskName);
    return new KoreanBenchmark(taskName, true);
  }

  /** The seed's evaluation: KoBEST, KMMLU and HAE-RAE. */
  public static defaults(): KoreanBenchmark[] {
    return [KoreanBenchmark.KOBEST, KoreanBenchmark.KMMLU, KoreanBenchmark.HAERAE];
  }

  /**
   * The metric that scores the task, as the trainer reads it from the harness results: `acc` for
   * kobest (the group's `acc` is the mean over its five subtasks; its `acc_norm` is
   * kobest_hellaswag's alone), kmmlu and click; `acc_norm` for haerae and kobest_hellaswag;
   * `exact_match` for the generative kmmlu_direct and kormedmcqa; `acc` for anything else. The
   * trainer's table (`PRIMARY_METRIC` in `korean_llm_trainer/evaluate.py`) is the same.
   */
  public readonly metric: string;

  private constructor(
    /** The harness task name. */
    public readonly taskName: string,
    /** Whether the name was given with `custom()`, unchecked. */
    public readonly isCustom: boolean = false,
    /**
     * The lowest score (0..1) of this task that deploys (workflow parameter `min-<task>`).
     * @default - no minimum of its own
     */
    public readonly minScore?: number,
  ) {
    this.metric = primaryMetric(taskName);
  }

  /**
   * The same benchmark with a minimum of its own: the deploy step runs only when this task's score
   * (output parameter `score-<task>` of the evaluate step) reaches it, whatever the mean.
   * `KoreanBenchmark.KMMLU.withMinimum(0.45)`.
   */
  public withMinimum(minScore: number): KoreanBenchmark {
    if (!Number.isFinite(minScore) || minScore < 0 || minScore > 1) v.fail(`minimum of benchmark '${this.taskName}'`, minScore, 'a number from 0 to 1');
    return new KoreanBenchmark(this.taskName, this.isCustom, minScore);
  }
}


/** The Korean benchmark families of lm-evaluation-harness the library knows (see RESEARCH.md). */
const KNOWN_FAMILIES = ['kobest', 'kmmlu', 'haerae', 'click', 'kbl', 'kormedmcqa'];

function checkTaskName(taskName: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(taskName)) {
    v.fail('benchmark', taskName, 'an lm-evaluation-harness task name (letters, digits, \'_\', \'.\', \'-\')');
  }
}
