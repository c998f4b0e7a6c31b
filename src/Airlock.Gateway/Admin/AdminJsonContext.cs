using System.Text.Json.Serialization;
using Airlock.Core.Audit;

namespace Airlock.Gateway.Admin;

/// <summary>
/// JSON of audit records as the admin API and the SIEM sinks send them: the same snake_case shape as a JSONL export
/// line's <c>record</c> (and <c>airlock audit list --json</c>), null fields left out.
/// </summary>
[JsonSerializable(typeof(AuditRecord))]
[JsonSerializable(typeof(AuditCheckpoint))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class AdminJsonContext : JsonSerializerContext;
