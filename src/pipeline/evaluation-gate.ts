import { SecretKey } from '../secret-key';

/**
 * English retention: the candidate must keep its English (no catastrophic forgetting). The
 * evaluate step scores these tasks on the candidate and on the base model of the run; retention
 * is the candidate's mean over them divided by the base's. The base is scored once per model id
 * (and evaluation limit): its scores are cached on the output volume (`<output>/eval-cache`).
 */
export interface RetentionOptions {
  /**
   * lm-evaluation-harness English tasks.
   * @default ['mmlu', 'arc_easy', 'hellaswag']
   */
  readonly tasks?: string[];
  /**
   * The lowest retention that deploys (workflow parameter `min-retention`): 0.97 is "at least 97 %
   * of the base model's English score".
   * @default 0.97
   */
  readonly minRetention?: number;
}

/**
 * Champion vs challenger: the evaluate step also scores the model the server runs now on the same
 * Korean tasks, and the candidate deploys only when its mean is at least the champion's minus the
 * tolerance. No model at the path (a first deployment) passes.
 */
export interface ChampionOptions {
  /**
   * The deployed model's directory on the output volume (workflow parameter
   * `champion-model-path`: pass the path the server runs now at submit time).
   */
  readonly modelPath: string;
  /**
   * How far below the champion's mean score (0..1) the candidate may be (workflow parameter
   * `champion-tolerance`).
   * @default 0.01
   */
  readonly tolerance?: number;
}

/**
 * A judged, generative Korean task (LogicKor / KoMT-Bench style): the candidate, served by vLLM in
 * the evaluate step's pod (or at `candidateEndpoint`, a VllmServer's URL), answers every turn of a
 * prompt set of yours; a judge model rates each answer 1..10; the task's score is the mean / 10.
 * The judge is an OpenAI-compatible `endpoint` with `model` and an `apiKey` from a Secret, or a
 * `judgeModelPath` served by vLLM in the same pod. No prompts are bundled.
 */
export interface JudgeOptions {
  /** The prompt set (JSONL: `turns` or `prompt`, optional `id`, `category`, `references`) on a mounted volume. */
  readonly promptsPath: string;
  /**
   * The task's name in the report and in its output parameter `score-<name>`.
   * @default 'logickor'
   */
  readonly taskName?: string;
  /**
   * The lowest judged score (0..1) that deploys (workflow parameter `min-<taskName>`).
   * @default - no minimum (reported only)
   */
  readonly minScore?: number;
  /**
   * The judge's OpenAI-compatible base URL (`https://api.example.com/v1`).
   * @default - `judgeModelPath`
   */
  readonly endpoint?: string;
  /**
   * The judge's model name at `endpoint`.
   * @default - required with `endpoint`
   */
  readonly model?: string;
  /**
   * The API key of `endpoint`, from a Secret.
   * @default - no key sent
   */
  readonly apiKey?: SecretKey;
  /**
   * A local judge model (a directory on a mounted volume) served by vLLM in the evaluate step's pod.
   * @default - `endpoint`
   */
  readonly judgeModelPath?: string;
  /**
   * An OpenAI-compatible URL already serving the candidate (a VllmServer's Service URL + `/v1`).
   * @default - vLLM serves the candidate in the evaluate step's pod
   */
  readonly candidateEndpoint?: string;
  /**
   * The candidate's model name at `candidateEndpoint`.
   * @default - the model path
   */
  readonly candidateModel?: string;
}
