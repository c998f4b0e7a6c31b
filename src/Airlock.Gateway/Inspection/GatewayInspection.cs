namespace Airlock.Gateway.Inspection;

/// <summary>Holds the inspection runtime, or null when <c>inspection.enabled</c> is false.</summary>
public sealed record GatewayInspection(InspectionRuntime? Runtime);
