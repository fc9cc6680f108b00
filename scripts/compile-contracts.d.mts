export declare const ARTIFACT_DIR: string;
export declare function compileContracts(): Record<string, string>;
export declare function staleArtifacts(fresh: Record<string, string>): string[];
