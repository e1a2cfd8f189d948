import * as v from '../_validate';

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

  private constructor(
    /** The harness task name. */
    public readonly taskName: string,
    /** Whether the name was given with `custom()`, unchecked. */
    public readonly isCustom: boolean = false,
  ) {}
}

/** The Korean benchmark families of lm-evaluation-harness the library knows (see RESEARCH.md). */
const KNOWN_FAMILIES = ['kobest', 'kmmlu', 'haerae', 'click', 'kbl', 'kormedmcqa'];

function checkTaskName(taskName: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(taskName)) {
    v.fail('benchmark', taskName, 'an lm-evaluation-harness task name (letters, digits, \'_\', \'.\', \'-\')');
  }
}
