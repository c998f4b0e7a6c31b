namespace Airlock.Inspection;

/// <summary>Placeholder so the project builds; replaced by the inspection engine.</summary>
public static class InspectionInfo
{
    /// <summary>Name of the engine.</summary>
    public const string Name = "airlock-inspection";
}
