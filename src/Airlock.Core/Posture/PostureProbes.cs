namespace Airlock.Core.Posture;

/// <summary>What opening the audit store and verifying its chain showed (the CLI runs the probe; the library has no storage engine).</summary>
/// <param name="Store">Which store (<c>sqlite DIR/airlock.db</c>, <c>postgres (connection string from $NAME)</c>): never a credential.</param>
/// <param name="Reachable">The store opened and answered.</param>
/// <param name="Intact">The hash chain and checkpoint signatures verified.</param>
/// <param name="Evidence">Records, sequence range, checkpoints, signature key id; or the fault.</param>
public sealed record AuditProbe(string Store, bool Reachable, bool Intact, string Evidence);

/// <summary>What loading the configured inspection rules showed.</summary>
/// <param name="Loaded">The rule packs loaded.</param>
/// <param name="Version">The combined rule-pack version.</param>
/// <param name="RuleCount">Number of secret rules.</param>
/// <param name="Evidence">Packs, warnings, or the error.</param>
public sealed record RulesProbe(bool Loaded, string? Version, int RuleCount, string Evidence);
