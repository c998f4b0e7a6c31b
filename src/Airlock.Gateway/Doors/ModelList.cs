using System.Buffers;
using System.Text.Json;

namespace Airlock.Gateway.Doors;

/// <summary>A <c>GET /v1/models</c> answer in the Anthropic shape, built from the routes when no catch-all upstream can answer.</summary>
internal static class ModelList
{
    public static ReadOnlyMemory<byte> Build(IEnumerable<string> models)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            var list = models.Distinct(StringComparer.Ordinal).ToList();
            w.WriteStartObject();
            w.WriteStartArray("data");
            foreach (var model in list)
            {
                w.WriteStartObject();
                w.WriteString("type", "model");
                w.WriteString("id", model);
                w.WriteString("display_name", model);
                w.WriteString("created_at", "1970-01-01T00:00:00Z");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteBoolean("has_more", false);
            if (list.Count > 0)
            {
                w.WriteString("first_id", list[0]);
                w.WriteString("last_id", list[^1]);
            }
            else
            {
                w.WriteNull("first_id");
                w.WriteNull("last_id");
            }
            w.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }
}
