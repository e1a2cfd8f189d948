/**
 * An inference server the pipeline's deploy step can roll to a newly trained model.
 *
 * `VllmServer` (a vLLM Deployment) and `KServeModelServer` (a KServe InferenceService) implement it; implement it
 * yourself to roll any other server. The deploy step patches the object named here (JSON merge
 * patch) and the pipeline's Role allows `get` and `patch` on exactly that object.
 */
export interface IModelServer {
  /** API group of the object to patch (`apps`, `serving.kserve.io`). */
  readonly resourceApiGroup: string;
  /** apiVersion of the object to patch (`apps/v1`). */
  readonly resourceApiVersion: string;
  /** Kind of the object to patch (`Deployment`). */
  readonly resourceKind: string;
  /** Plural resource name, for RBAC (`deployments`). */
  readonly resourcePlural: string;
  /** Name of the object to patch. */
  readonly resourceName: string;
  /**
   * The JSON merge patch that points the server at a model directory and makes it roll.
   * @param modelPath the model directory on the output volume
   */
  rolloutPatch(modelPath: string): any;
}
