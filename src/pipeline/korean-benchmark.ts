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

  /** Any lm-evaluation-harness task or group name (e.g. `kmmlu_hard`). */
  public static custom(taskName: string): KoreanBenchmark {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(taskName)) {
      v.fail('benchmark', taskName, 'an lm-evaluation-harness task name (letters, digits, \'_\', \'.\', \'-\')');
    }
    return new KoreanBenchmark(taskName);
  }

  /** The seed's evaluation: KoBEST, KMMLU and HAE-RAE. */
  public static defaults(): KoreanBenchmark[] {
    return [KoreanBenchmark.KOBEST, KoreanBenchmark.KMMLU, KoreanBenchmark.HAERAE];
  }

  private constructor(/** The harness task name. */ public readonly taskName: string) {}
}
