using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

namespace Airlock.Inspection;

/// <summary>
/// Reads TOML into Tomlyn's dynamic model without reflection, so rule packs load in the NativeAOT
/// <c>airlock-hook</c> too (the reflection-based <c>Deserialize&lt;TomlTable&gt;(string)</c> is not AOT-safe).
/// </summary>
internal sealed class TomlTableContext : TomlSerializerContext
{
    public static TomlTableContext Instance { get; } = new();

    public override TomlTypeInfo? GetTypeInfo(Type type, TomlSerializerOptions options) =>
        type == typeof(TomlTable) ? GetBuiltInTypeInfo<TomlTable>(options) : null;
}
