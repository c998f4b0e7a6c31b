using Airlock.Inspection.Messages;
using Airlock.Protocols.Json;

namespace Airlock.Gateway.Inspection;

/// <summary>Hands the validation pass's member layout to the request inspector (which has no dependency on the protocols library).</summary>
internal static class InspectionLayout
{
    /// <summary>The inspector's view of <paramref name="layout"/>, taken by a pass that enforced <paramref name="validatedDepth"/>; null stays null.</summary>
    public static RequestBodyLayout? From(JsonObjectLayout? layout, int validatedDepth)
    {
        if (layout is null)
        {
            return null;
        }

        var members = layout.Members;
        var result = new RequestBodyLayout(layout.BodyLength, validatedDepth, members.Count);
        foreach (var member in members)
        {
            result.Add(new RequestBodyLayout.Member(member.Start, member.NameLength, member.NameEscaped, member.ValueStart, member.End));
        }

        return result;
    }
}
